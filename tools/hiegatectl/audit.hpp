// `hiegatectl audit verify|checkpoints|report|export`: reads the audit trail
// in the state directory directly (offline, or beside a running daemon).
#pragma once

int audit_main(int argc, char** argv);
