#include <cstdio>

int main() {
  std::puts("hiegated " HIEGATE_VERSION);
  return 0;
}
