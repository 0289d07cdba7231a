wanted_files() { echo /etc/hostname; }
