#!/bin/bash
# Sent ahead of node.sh and lb.sh (tests/lab_k8s.rs): the one way the manual install updates apt's
# lists.
# The lab's apt proxy has left an update hanging silently after an ignored index (nothing printed
# for ten minutes): each update is capped and tried again, so the hang costs minutes, not the test.
apt_update() {
	local i
	for i in 1 2 3; do
		timeout -k 10 180 apt-get -q -o Dpkg::Use-Pty=0 update && return 0
		echo "apt-get update did not finish (attempt $i of 3)" >&2
	done
	return 1
}
