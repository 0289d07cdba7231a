check_all() { true; }
