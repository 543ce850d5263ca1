// Package pkg is the root of Kehu's shared platform module. The packages
// below it hold what every service uses: configuration, logging, the server
// runner and its interceptors, PostgreSQL and Redis access, the error
// vocabulary, authentication, filters, page tokens, the outbox and the
// generated API code.
package pkg
