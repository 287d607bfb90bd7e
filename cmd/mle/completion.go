package main

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// flagLister is implemented by the writer completion hands a command with
// -h: the command's flag set is reported instead of printed, so the scripts
// list exactly the flags each command parses.
type flagLister interface {
	listFlags(name string, fs *flag.FlagSet)
}

type flagCollector struct {
	flags map[string][]*flag.Flag // "inspect", "registry register", …
}

func (c *flagCollector) Write(p []byte) (int, error) { return len(p), nil }

func (c *flagCollector) listFlags(name string, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) { c.flags[name] = append(c.flags[name], f) })
}

// commandFlags asks every command (and registry verb) for its flags.
func commandFlags() (names []string, flags map[string][]*flag.Flag) {
	c := &flagCollector{flags: map[string][]*flag.Flag{}}
	for name, cmd := range commands() {
		names = append(names, name)
		switch name {
		case "completion":
		case "registry":
			for _, verb := range registryVerbs {
				_, _ = cmd([]string{verb, "-h"}, c, io.Discard)
			}
		default:
			_, _ = cmd([]string{"-h"}, c, io.Discard)
		}
	}
	sort.Strings(names)
	return names, c.flags
}

const completionUsage = `usage: mle completion bash|zsh|fish

prints a completion script for the shell; load it with
  bash:  source <(mle completion bash)     (or save it under ~/.local/share/bash-completion/completions/mle)
  zsh:   source <(mle completion zsh)      (after compinit)
  fish:  mle completion fish | source      (or save it as ~/.config/fish/completions/mle.fish)
`

func cmdCompletion(args []string, w, _ io.Writer) (bool, error) {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(w, completionUsage)
		return false, nil
	}
	if len(args) != 1 {
		return false, fmt.Errorf("%w: want one shell: bash, zsh or fish", errUsage)
	}
	names, flags := commandFlags()
	switch args[0] {
	case "bash":
		writeBash(w, names, flags)
	case "zsh":
		writeZsh(w, names, flags)
	case "fish":
		writeFish(w, names, flags)
	default:
		return false, fmt.Errorf("%w: unknown shell %q (bash, zsh or fish)", errUsage, args[0])
	}
	return false, nil
}

func flagWords(fs []*flag.Flag) string {
	words := make([]string, len(fs))
	for i, f := range fs {
		words[i] = flagWord(f)
	}
	return strings.Join(words, " ")
}

// flagWord is how a flag is shown: -o for one letter, --name otherwise
// (Go's flag package takes either dash count).
func flagWord(f *flag.Flag) string {
	if len(f.Name) == 1 {
		return "-" + f.Name
	}
	return "--" + f.Name
}

func writeBash(w io.Writer, names []string, flags map[string][]*flag.Flag) {
	fmt.Fprintf(w, `# mle completion for bash: source <(mle completion bash)
_mle() {
    local cur=${COMP_WORDS[COMP_CWORD]} words=""
    if [[ $COMP_CWORD -eq 1 ]]; then
        words="%s --help --version"
    elif [[ ${COMP_WORDS[1]} == completion ]]; then
        words="bash zsh fish"
    elif [[ ${COMP_WORDS[1]} == registry && $COMP_CWORD -eq 2 ]]; then
        words="%s"
    elif [[ $cur == -* ]]; then
        case "${COMP_WORDS[1]}" in
`, strings.Join(names, " "), strings.Join(registryVerbs, " "))
	for _, name := range names {
		if name == "registry" || name == "completion" {
			continue
		}
		fmt.Fprintf(w, "            %s) words=%q ;;\n", name, flagWords(flags[name])+" --help")
	}
	fmt.Fprintf(w, "            registry) words=%q ;;\n", flagWords(flags["registry "+registryVerbs[0]])+" --help")
	fmt.Fprint(w, `        esac
    fi
    # Nothing to offer: the shell completes file names (complete -o default).
    [[ -n $words ]] && COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _mle mle
`)
}

func writeZsh(w io.Writer, names []string, flags map[string][]*flag.Flag) {
	fmt.Fprintf(w, `#compdef mle
# mle completion for zsh: source <(mle completion zsh) after compinit
_mle() {
    local -a flags
    if (( CURRENT == 2 )); then
        compadd -- %s --help --version
        return
    fi
    case $words[2] in
        completion) compadd -- bash zsh fish; return ;;
        registry) if (( CURRENT == 3 )); then compadd -- %s; return; fi
            flags=(%s --help) ;;
`, strings.Join(names, " "), strings.Join(registryVerbs, " "), flagWords(flags["registry "+registryVerbs[0]]))
	for _, name := range names {
		if name == "registry" || name == "completion" {
			continue
		}
		fmt.Fprintf(w, "        %s) flags=(%s --help) ;;\n", name, flagWords(flags[name]))
	}
	fmt.Fprint(w, `    esac
    if [[ $PREFIX == -* ]]; then compadd -- $flags; else _files; fi
}
compdef _mle mle
`)
}

func writeFish(w io.Writer, names []string, flags map[string][]*flag.Flag) {
	fmt.Fprint(w, "# mle completion for fish: mle completion fish | source\n")
	fmt.Fprintf(w, "complete -c mle -f -n __fish_use_subcommand -a %q\n", strings.Join(names, " "))
	fmt.Fprint(w, "complete -c mle -n __fish_use_subcommand -l version -d 'print the library and format versions'\n")
	fmt.Fprint(w, "complete -c mle -f -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n")
	fmt.Fprintf(w, "complete -c mle -f -n '__fish_seen_subcommand_from registry; and not __fish_seen_subcommand_from %s' -a %q\n",
		strings.Join(registryVerbs, " "), strings.Join(registryVerbs, " "))
	for _, name := range names {
		key := name
		if name == "registry" {
			key = "registry " + registryVerbs[0]
		}
		for _, f := range flags[key] {
			desc := strings.ReplaceAll(strings.SplitN(f.Usage, "\n", 2)[0], `'`, `\'`)
			opt := "-l " + f.Name
			if len(f.Name) == 1 {
				opt = "-s " + f.Name
			}
			fmt.Fprintf(w, "complete -c mle -n '__fish_seen_subcommand_from %s' %s -d '%s'\n", name, opt, desc)
		}
	}
}
