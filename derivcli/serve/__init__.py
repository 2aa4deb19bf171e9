"""The warm server: `derivcli serve` keeps torch, SymPy and the pipeline imported and answers each derivcli
command in a forked child; the `derivcli` entry point (`client`) hands it the command line and its own
standard streams, or runs cold.  `paths` (the private directory, files of our own), `protocol` (frames and
the identity both ends must share), `client` (standard library only), `server` (the loop), `connection`
(one client and the request its child enters), `own_files` (lock and log) and `daemon` (warm-up and
`--background`)."""
