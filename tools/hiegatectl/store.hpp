#pragma once
/// hiegatectl store check|rekey|status [--state-dir DIR] [--key FILE]
///   check: opens every sealed record, quarantines failures, exit 1 if any.
///   rekey: re-encrypts every record to the newest key version, with progress.
///   status: key version and rekey progress.
int store_main(int argc, char** argv);
