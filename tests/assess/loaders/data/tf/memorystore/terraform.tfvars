memorystore = false
