#pragma once
/// hiegatectl keygen --out FILE: writes a new 32-byte master key (mode 0400,
/// never overwriting). Exit 0 on success, 1 on failure, 2 on usage errors.
int keygen_main(int argc, char** argv);
