"""`python -m memwarden.demo`: the bundled service (so its leak's owner path reads
`memwarden.demo.app:service.processed_records`, not `__main__:...`)."""

from memwarden.demo.app import main

main()
