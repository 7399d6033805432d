package rules

// The sun: sunrise, sunset and civil twilight by the NOAA solar position
// algorithm (NOAA Global Monitoring Laboratory, "Solar Calculation Details"
// and its spreadsheet NOAA_Solar_Calculations_day.xls, which follow Jean
// Meeus, Astronomical Algorithms, 1991). NOAA states the algorithm is good to
// about a minute for latitudes within ±72°; tests check it within 60 s of
// published USNO tables between ±60°.

import (
	"math"
	"time"
)

// SunStatus says whether a sun event happens on a day.
type SunStatus int

// The statuses. A missing event is stated, never given as a zero time.
const (
	// SunOccurs: the event happens; SunEvent.Time holds it.
	SunOccurs SunStatus = iota
	// SunAlwaysAbove: the sun stays above the event's altitude all day (polar
	// day for sunrise/sunset; white nights for civil dawn/dusk).
	SunAlwaysAbove
	// SunAlwaysBelow: the sun stays below the event's altitude all day
	// (polar night).
	SunAlwaysBelow
)

func (s SunStatus) String() string {
	switch s {
	case SunAlwaysAbove:
		return "none (sun always above)"
	case SunAlwaysBelow:
		return "none (sun always below)"
	}
	return "occurs"
}

// SunEvent is one sun event of a day, or the plain statement that there is
// none.
type SunEvent struct {
	Status SunStatus
	// Time is the instant, in the center's zone, when Status is SunOccurs;
	// zero otherwise.
	Time time.Time
}

// OK reports whether the event happens.
func (e SunEvent) OK() bool { return e.Status == SunOccurs }

// SunDay holds a date's sun events at a place.
type SunDay struct {
	Date Date
	// Noon is solar noon (the sun's transit), always defined.
	Noon                        time.Time
	Dawn, Sunrise, Sunset, Dusk SunEvent
}

// Event returns the day's event for a sun anchor; AnchorClock gives a zero
// SunEvent.
func (s SunDay) Event(a Anchor) SunEvent {
	switch a {
	case AnchorSunrise:
		return s.Sunrise
	case AnchorSunset:
		return s.Sunset
	case AnchorDawn:
		return s.Dawn
	case AnchorDusk:
		return s.Dusk
	}
	return SunEvent{}
}

// Zenith distances of the events, in degrees. Sunrise and sunset: the upper
// limb on the horizon, 34' of refraction plus 16' of semidiameter
// (90°50'); civil twilight: the centre 6° below the horizon.
const (
	zenithRiseSet = 90.833
	zenithCivil   = 96.0
)

// SunTimes returns the sun events of date d at the center. The events
// returned are those around the solar transit nearest local noon of d; for
// any zone within a few hours of the place's solar time they all fall on d.
func SunTimes(c Center, d Date) SunDay {
	loc := c.loc()
	noonUTC, base := solarNoon(c.Lon, WallTime(d, 12*time.Hour, loc))
	day := SunDay{Date: d, Noon: noonUTC.In(loc).Round(time.Second)}
	event := func(zenith float64, morning bool) SunEvent {
		sign := 1.0
		if morning {
			sign = -1
		}
		est := noonUTC
		// Three passes: the sun's declination and the equation of time are
		// evaluated at the previous estimate of the event, as NOAA's own
		// calculator does, which moves the result by up to a minute.
		for range 3 {
			p := solarAt(est)
			cosHA := hourAngleCos(c.Lat, p.declination, zenith)
			switch {
			case cosHA > 1:
				return SunEvent{Status: SunAlwaysBelow}
			case cosHA < -1:
				return SunEvent{Status: SunAlwaysAbove}
			}
			ha := degrees(math.Acos(cosHA))
			// NOAA: event (minutes from UTC midnight) = 720 − 4(lon ± HA) − EoT.
			minutes := 720 - 4*(c.Lon-sign*ha) - p.equationOfTime
			est = base.Add(time.Duration(minutes * float64(time.Minute)))
		}
		return SunEvent{Status: SunOccurs, Time: est.In(loc).Round(time.Second)}
	}
	day.Dawn = event(zenithCivil, true)
	day.Sunrise = event(zenithRiseSet, true)
	day.Sunset = event(zenithRiseSet, false)
	day.Dusk = event(zenithCivil, false)
	return day
}

// solarNoon returns the transit nearest near, and the UTC midnight the
// transit's minutes are counted from.
func solarNoon(lon float64, near time.Time) (noon, base time.Time) {
	u := near.UTC()
	base = time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	est := near
	for range 2 {
		p := solarAt(est)
		// NOAA "Solar Noon (LST)" without the zone term: 720 − 4·lon − EoT.
		minutes := 720 - 4*lon - p.equationOfTime
		noon = base.Add(time.Duration(minutes * float64(time.Minute)))
		switch d := noon.Sub(near); {
		case d > 12*time.Hour:
			base = base.Add(-24 * time.Hour)
			noon = noon.Add(-24 * time.Hour)
		case d < -12*time.Hour:
			base = base.Add(24 * time.Hour)
			noon = noon.Add(24 * time.Hour)
		}
		est = noon
	}
	return noon, base
}

// solarParams are the sun's declination (degrees) and the equation of time
// (minutes) at an instant.
type solarParams struct {
	declination    float64
	equationOfTime float64
}

// solarAt evaluates the NOAA spreadsheet columns G–V at instant t.
func solarAt(t time.Time) solarParams {
	// Julian day: the Unix epoch is JD 2440587.5 (Meeus ch. 7).
	jd := float64(t.Unix())/86400 + 2440587.5
	// Julian century from J2000.0 (column G).
	T := (jd - 2451545) / 36525
	// Geometric mean longitude of the sun, degrees (I).
	l0 := math.Mod(280.46646+T*(36000.76983+T*0.0003032), 360)
	// Geometric mean anomaly of the sun, degrees (J).
	m := 357.52911 + T*(35999.05029-0.0001537*T)
	// Eccentricity of Earth's orbit (K).
	e := 0.016708634 - T*(0.000042037+0.0000001267*T)
	// Equation of centre, degrees (L).
	mr := radians(m)
	center := math.Sin(mr)*(1.914602-T*(0.004817+0.000014*T)) +
		math.Sin(2*mr)*(0.019993-0.000101*T) +
		math.Sin(3*mr)*0.000289
	// True and apparent longitude, degrees (M, P); Ω = 125.04 − 1934.136 T.
	omega := radians(125.04 - 1934.136*T)
	apparent := l0 + center - 0.00569 - 0.00478*math.Sin(omega)
	// Mean obliquity of the ecliptic and its correction, degrees (Q, R).
	eps0 := 23 + (26+(21.448-T*(46.815+T*(0.00059-T*0.001813)))/60)/60
	eps := radians(eps0 + 0.00256*math.Cos(omega))
	// Declination (T).
	decl := degrees(math.Asin(math.Sin(eps) * math.Sin(radians(apparent))))
	// var y (U) and the equation of time in minutes (V).
	y := math.Tan(eps / 2)
	y *= y
	l0r := radians(l0)
	eot := 4 * degrees(y*math.Sin(2*l0r)-2*e*math.Sin(mr)+
		4*e*y*math.Sin(mr)*math.Cos(2*l0r)-
		0.5*y*y*math.Sin(4*l0r)-1.25*e*e*math.Sin(2*mr))
	return solarParams{declination: decl, equationOfTime: eot}
}

// hourAngleCos is the cosine of the hour angle at which the sun's centre is
// zenith degrees from the zenith (NOAA column W before its acos). Above 1
// the sun never climbs to that altitude that day (it stays below); below −1
// it never sinks to it (it stays above).
func hourAngleCos(lat, decl, zenith float64) float64 {
	φ, δ := radians(lat), radians(decl)
	return math.Cos(radians(zenith))/(math.Cos(φ)*math.Cos(δ)) - math.Tan(φ)*math.Tan(δ)
}

func radians(deg float64) float64 { return deg * math.Pi / 180 }
func degrees(rad float64) float64 { return rad * 180 / math.Pi }
