// A map of namespaces to the base URL of their API references, for the links of the
// libtether reference to types of its dependencies.
baseURLs = [
  [ 'GLib', 'https://docs.gtk.org/glib/' ],
  [ 'GObject', 'https://docs.gtk.org/gobject/' ],
  [ 'Gio', 'https://docs.gtk.org/gio/' ],
  [ 'Gst', 'https://gstreamer.freedesktop.org/documentation/gstreamer/' ],
]
