package auth

import (
	_ "embed"
	"strings"
	"sync"
	"unicode/utf8"
)

// MinPasswordLength is the shortest password accepted at sign-up.
const MinPasswordLength = 10

// commonPasswordList holds passwords of ten characters or more that people
// pick most: common words and names with the usual suffixes (1, 123, !,
// years), digit, letter and keyboard runs. common_passwords.py made it.
//
//go:embed common_passwords.txt
var commonPasswordList string

var commonPasswords = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, p := range strings.Fields(commonPasswordList) {
		m[p] = true
	}
	return m
})

// PasswordProblem says what is wrong with a new password, or "" when it is
// acceptable: at least MinPasswordLength characters, at most 256 bytes,
// not one of the most common passwords.
func PasswordProblem(password string) string {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return "must be at least 10 characters"
	case len(password) > 256:
		return "must be at most 256 bytes"
	case commonPasswords()[strings.ToLower(password)]:
		return "is one of the most common passwords; choose another"
	}
	return ""
}
