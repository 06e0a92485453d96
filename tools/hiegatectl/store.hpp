#pragma once
/// hiegatectl store check|rekey [--state-dir DIR] [--key FILE]
///   check: opens every sealed record, quarantines failures, exit 1 if any.
///   rekey: re-encrypts every record to the newest key version, with progress.
int store_main(int argc, char** argv);
