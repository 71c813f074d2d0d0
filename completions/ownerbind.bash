# bash completion for ownerbind, ownerbind-verify and ownerbind-server.
# Options are read from each program's own --help, so they never go stale.

_ownerbind_opts()
{
	# the long options a --help text mentions
	"$@" --help 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

_ownerbind()
{
	local cur prev verb verbs
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	verbs=$("${COMP_WORDS[0]}" --help 2>/dev/null |
	    sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "$verbs --help --version" -- "$cur"))
		return
	fi
	verb=${COMP_WORDS[1]}
	case $prev in
	--key|--agent-key|--key-uri|--owner-key)
		COMPREPLY=($(compgen -W "file: pkcs11: tpm2: fido2: piv:" -- "$cur"))
		[ "${cur#file:}" != "$cur" ] &&
		    COMPREPLY=($(compgen -f -P file: -- "${cur#file:}"))
		return;;
	--pin-source)
		COMPREPLY=($(compgen -W "tty file: fd: env: askpass:" -- "$cur"))
		return;;
	--model)
		COMPREPLY=($(compgen -W "agent-mediated owner-mediated server-mediated" -- "$cur"))
		return;;
	--role)
		COMPREPLY=($(compgen -W "owner gateway" -- "$cur"))
		return;;
	--trust|--state|--x5c|-o|--public|--ca|--cert|--ak|--attestation|--add-ak|--wit|--wic|--evidence|--save-answer)
		COMPREPLY=($(compgen -f -- "$cur"))
		return;;
	esac
	if [ "$verb" = trust ] && [ "$COMP_CWORD" -eq 2 ]; then
		# the actions: first words of the usage lines, and those after
		# a wide gap on the same line
		local h actions
		h=$("${COMP_WORDS[0]}" trust --help 2>/dev/null)
		actions="$(printf '%s\n' "$h" | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
		    $(printf '%s\n' "$h" | grep -o '    [a-z][a-z-]* --' | awk '{print $1}')"
		COMPREPLY=($(compgen -W "$actions" -- "$cur"))
		return
	fi
	case $cur in
	# every verb takes --json (errors as one JSON object)
	-*) COMPREPLY=($(compgen -W "$(_ownerbind_opts "${COMP_WORDS[0]}" "$verb") --json" -- "$cur"));;
	*) COMPREPLY=($(compgen -f -- "$cur"));;
	esac
}

_ownerbind_daemon()
{
	local cur=${COMP_WORDS[COMP_CWORD]}
	case $cur in
	-*) COMPREPLY=($(compgen -W "$(_ownerbind_opts "${COMP_WORDS[0]}")" -- "$cur"));;
	*) COMPREPLY=($(compgen -f -- "$cur"));;
	esac
}

complete -F _ownerbind ownerbind
complete -F _ownerbind_daemon ownerbind-verify ownerbind-server
