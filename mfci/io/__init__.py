"""The homes of mfci's side effects on this machine: running programs (`process`),
downloading over HTTP (`http`), writing and reading local files atomically (`files`).
Every stage that does one of these goes through its home, so a fix lands once."""
