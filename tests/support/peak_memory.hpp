// Peak resident memory of the test process, for bounded-memory tests.
#pragma once

#include <sys/resource.h>

namespace hiegate::test {

/// Peak RSS so far, in KiB (getrusage ru_maxrss).
inline long peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/// False under AddressSanitizer: its quarantine keeps freed blocks resident,
/// so RSS growth says nothing about the code's own footprint.
inline constexpr bool kPeakRssMeaningful =
#if defined(__SANITIZE_ADDRESS__)
    false;
#else
    true;
#endif

}  // namespace hiegate::test
