function _derivcli_completion
    for line in (env COMP_LINE=(commandline -cp | string collect) _DERIVCLI_COMPLETE=complete_fish derivcli)
        set -l fields (string split -m 1 , -- $line)
        if test "$fields[1]" = file
            __fish_complete_path (commandline -ct)
        else if test "$fields[1]" = plain
            echo $fields[2]
        end
    end
end

complete --command derivcli --no-files --arguments '(_derivcli_completion)'
