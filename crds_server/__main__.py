from crds_server.cli import main

main()
