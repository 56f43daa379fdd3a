print("swapscript")
