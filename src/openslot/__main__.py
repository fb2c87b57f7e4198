from openslot.cli import main

main()
