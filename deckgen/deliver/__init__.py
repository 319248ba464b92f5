"""Stage 7, deliver: a library's newest packages brought into an Anki collection (`deckgen sync`), through the
`anki` package (the only module that imports it is `collection`): which collection (`profiles`), what each
library delivered there (`ledger`, in the collection's own config), what a package holds (`package`), and the
delivery itself, rehearsed by Anki's own importer and undone when anything would be lost (`collection`)."""
