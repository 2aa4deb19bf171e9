_derivcli_completion() {
    local line
    COMPREPLY=()
    while IFS= read -r line; do
        if [[ ${line/,*} == file ]]; then
            compopt -o default  # bash completes the file names itself
        elif [[ ${line/,*} == plain ]]; then
            COMPREPLY+=("${line#*,}")
        fi
    done < <(env COMP_LINE="${COMP_LINE:0:COMP_POINT}" COMP_WORDBREAKS="$COMP_WORDBREAKS" \
                 _DERIVCLI_COMPLETE=complete_bash "$1")
}

complete -o nosort -F _derivcli_completion derivcli
