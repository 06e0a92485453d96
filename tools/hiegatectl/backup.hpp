#pragma once
/// hiegatectl backup --to FILE [--state-dir DIR] [--key FILE]
///   Consistent online snapshot (still encrypted) plus FILE.manifest.
int backup_main(int argc, char** argv);
/// hiegatectl restore --from FILE [--force] [--state-dir DIR] [--key FILE]
///   Refuses corrupt or foreign backups; replaces live state only with --force
///   (stop hiegated first).
int restore_main(int argc, char** argv);
