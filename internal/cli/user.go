package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/config"
)

func runUser(ctx context.Context, io IO, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return fmt.Errorf("%w: shebao user add --username U --role R --region CODE [--phone MOBILE] [--password-stdin]", errUsage)
	}
	fs := newFlags("user add", io)
	var c config.DB
	config.RegisterDB(fs, io.Env, &c)
	username := fs.String("username", "", "login name")
	name := fs.String("name", "", "display name")
	role := fs.String("role", "", "one of: "+roleList()+"; window staff may hold several: clerk,reviewer")
	region := fs.String("region", "", "pooling region code(s), 6 digits, comma-separated")
	phone := fs.String("phone", "", "the holder's mobile number, where one-time codes go after a reset")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (otherwise one is generated and printed once)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if err := c.Resolve(); err != nil {
		return err
	}
	var password string
	if *fromStdin {
		line, err := bufio.NewReader(io.In).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading the password from standard input: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
		if password == "" {
			return fmt.Errorf("%w: the password on standard input is empty", errUsage)
		}
	}
	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	svc := auth.New(d, auth.Options{})
	roles := splitList(*role)
	if len(roles) == 0 {
		roles = []string{""}
	}
	var also []auth.Role
	for _, r := range roles[1:] {
		also = append(also, auth.Role(r))
	}
	u, pw, err := svc.CreateUser(ctx, nil, operator(), auth.NewUser{
		Username: *username, DisplayName: *name, Role: auth.Role(roles[0]), Also: also, Regions: splitList(*region), Password: password,
		Phone: *phone,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "created user %s (roles %v, regions %s)\n", u.Username, u.Roles, strings.Join(u.Regions, ","))
	if !*fromStdin {
		fmt.Fprintf(io.Out, "password (shown once): %s\n", pw)
	}
	return nil
}

func roleList() string {
	names := make([]string, len(auth.Roles))
	for i, r := range auth.Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}
