. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
