"""The window shell: the main window, its fixed views, the ui host features build through, start-up."""
