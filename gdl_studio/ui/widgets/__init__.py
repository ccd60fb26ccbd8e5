"""Controls the panels share: the model picker, the problem banner, an eliding label, a flow layout."""
