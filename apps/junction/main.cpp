// junction: the command-line entry point. Parses arguments and dispatches to a
// subcommand; contains no logic of its own.
#include <cstdio>

int main() {
  std::puts("junction: subcommands arrive with the CLI");
  return 0;
}
