"""Members: the insured person, their KVNR and postal address; the core every other app builds on."""
