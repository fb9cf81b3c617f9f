// sluice: the command-line client. See cli.h.
#include <iostream>

#include "producers/cli.h"

int main(int argc, char** argv) { return sluice::cli::Run(argc, argv, std::cin, std::cout, std::cerr); }
