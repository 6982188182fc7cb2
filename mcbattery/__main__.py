from mcbattery.cli import main

main()
