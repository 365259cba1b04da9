toplevel = "mfci_toplevel"
