#include <cstdio>

int main() {
  std::puts("hiegatectl " HIEGATE_VERSION);
  return 0;
}
