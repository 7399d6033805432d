module github.com/beacon-edge/beacon

go 1.26.8

require (
	github.com/robfig/cron/v3 v3.0.1
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/creack/goselect v0.1.2 // indirect
	go.bug.st/serial v1.6.4 // indirect
	golang.org/x/sys v0.36.0 // indirect
)
