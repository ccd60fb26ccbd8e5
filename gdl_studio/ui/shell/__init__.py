"""The app around the panels: main window (side bar, menus, status bar), the Training dock,
Help → About, icons and start-up."""
