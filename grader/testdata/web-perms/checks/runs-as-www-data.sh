#!/bin/bash
# The real executable (not argv[0], which anyone can fake) of a process run
# by uid 33 must be python serving on 8080.
found=0
while read -r pid uid exe argv0; do
	if [ "$uid" = 33 ] && [[ "$exe" == */python3* ]]; then found=1; fi
done < <(sbx-procs)
if [ "$found" = 1 ]; then echo "a python3 process runs as www-data"; exit 0; fi
echo "no python3 process runs as www-data (uid 33)"
exit 1
