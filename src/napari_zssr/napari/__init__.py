"""The napari front: dock widget, reader/writer/sample contributions and ``run()`` for the console."""
