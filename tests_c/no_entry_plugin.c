/* A shared library that is not a SparseWire plugin (no sw_plugin_entry). */
int not_a_plugin(void) { return 42; }
