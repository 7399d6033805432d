// Package rules answers "when, and what is wanted": it turns a center's
// schedules (windows, jobs, calendars, sun events, flag etiquette, broadcast
// plans, conditions on points) into desired point values and due jobs.
//
// Everything here is a pure function of its inputs: the time (never
// time.Now), the center's zone and coordinates, its calendar, and the point
// values handed in. The one piece of state, which job instants have been
// handled, lives in a JobRunner and is kept on disk by a JobStore so that a
// job never runs twice for the same scheduled instant (see runner.go).
//
// The layers above (gateway) convert the validated config into these types;
// rules never imports gateway/config (the dependency points downward).
//
// Files by topic:
//
//	date.go      civil dates and wall-clock → instant resolution (DST gaps and folds)
//	sun.go       NOAA solar position: sunrise, sunset, civil dawn and dusk
//	timeexpr.go  time expressions (07:30, sunset-15m), cron, weekdays
//	calendar.go  calendar entries and day filters
//	window.go    level-triggered windows, conditions, polar stand-ins
//	evaluator.go Schedule, Inputs and the Evaluator (desired state)
//	jobs.go      edge-triggered jobs: cron and at instants with DST rules
//	runner.go    job runner: grace, missed, the on-disk watermark (FileStore)
//	flag.go      flag etiquette: desired flag state, wind hold, step sequences
//	broadcast.go broadcast queue: quiet hours, pre-emption, queueing
//	trust.go     clock sanity (build year, NTP synchronisation)
//	plan.go      the timeline `beacon plan` prints
package rules
