#pragma once
namespace hiegate::tools {
/// hiegatectl check-config [FILE]
int check_config_main(int argc, char** argv);
/// hiegatectl token new [--name NAME]
int token_main(int argc, char** argv);
/// hiegatectl status [--socket PATH] [--token-file FILE] [--json]
int status_main(int argc, char** argv);
}  // namespace hiegate::tools
