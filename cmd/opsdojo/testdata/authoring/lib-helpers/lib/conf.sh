# Helpers shared by the checks: sourced as "$(dirname "$0")/../lib/conf.sh".

# conf_value KEY prints KEY's value in the sandbox's /workspace/app.conf.
conf_value() { sbx-cat /workspace/app.conf | sed -n "s/^$1 *= *//p"; }

# want KEY VALUE fails, saying what it found, unless KEY is VALUE.
want() {
	local got
	got=$(conf_value "$1")
	if [ "$got" != "$2" ]; then
		echo "$1 is '$got', want '$2' (lib/conf.sh)"
		return 1
	fi
	echo "$1 is $2"
}
