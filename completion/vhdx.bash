# SPDX-License-Identifier: BSD-2-Clause
# bash completion for vhdx(1)                                           -*- shell-script -*-
#
# Commands and options are read from the tool's own --help (`vhdx --help`, `vhdx COMMAND --help`), once per shell
# and command, so a command or option added to the tool completes without touching this file.

# _vhdx_commands: the command names listed under "Commands:" in `vhdx --help`
_vhdx_commands()
{
	if [[ -z ${_vhdx_cache_commands-} ]]; then
		_vhdx_cache_commands=$("${1:-vhdx}" --help 2>/dev/null |
			sed -n '/^Commands:/,/^$/{s/^  \([a-z][a-z0-9-]*\)\( .*\)\{0,1\}$/\1/p}')
	fi
	printf '%s\n' "$_vhdx_cache_commands"
}

# _vhdx_options TOOL COMMAND: the long options in `vhdx COMMAND --help`
_vhdx_options()
{
	local var=_vhdx_cache_opts_${2//-/_}
	if [[ -z ${!var-} ]]; then
		printf -v "$var" '%s' "$("$1" "$2" --help 2>/dev/null | grep -oE -- '(^|[ ,[])--[a-z][a-z0-9-]*' |
			sed 's/^[ ,[]//' | sort -u)"
	fi
	printf '%s\n' "${!var}"
}

_vhdx()
{
	local cur prev words cword
	_init_completion || return

	local tool=${words[0]} cmd= i
	for ((i = 1; i < cword; i++)); do
		if [[ ${words[i]} != -* ]]; then
			cmd=${words[i]}
			break
		fi
	done

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--help --version' -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_vhdx_commands "$tool")" -- "$cur"))
		fi
		return
	fi

	# values of options
	case $prev in
	--esp)
		_filedir -d
		return
		;;
	--module | --from)
		_filedir
		return
		;;
	--on-error)
		COMPREPLY=($(compgen -W 'stop continue' -- "$cur"))
		return
		;;
	--arch)
		COMPREPLY=($(compgen -W 'x64 ia32 aa64' -- "$cur"))
		return
		;;
	--logical-sector | --physical-sector)
		COMPREPLY=($(compgen -W '512 4096' -- "$cur"))
		return
		;;
	--next | --disk | --image | --args | --block-size | --log-size)
		return
		;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_vhdx_options "$tool" "$cmd")" -- "$cur"))
		return
	fi
	case $cmd in
	install-boot) ;;
	*) _filedir ;;
	esac
} && complete -F _vhdx vhdx
