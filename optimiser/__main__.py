from optimiser.cli import main

main()
