#include <cstdio>

int main() {
  std::puts("hiegate-secretariat " HIEGATE_VERSION);
  return 0;
}
