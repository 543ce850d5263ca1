package customer

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Limits on profile fields. They keep rows small and indexes useful, and
// reject obviously broken imports early.
const (
	maxNameLen      = 200
	maxTextLen      = 200
	maxEmails       = 10
	maxPhones       = 10
	maxTags         = 50
	maxTagLen       = 64
	maxAttributes   = 100
	maxAttrKeyLen   = 64
	maxAttrValueLen = 1024
	maxExternalID   = 128
	maxReasonLen    = 500
)

var (
	attrKeyPattern  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]*$`)
	countryPattern  = regexp.MustCompile(`^[A-Z]{2}$`)
	subjectPattern  = regexp.MustCompile(`^[A-Za-z0-9@._:-]{1,128}$`)
	fullBirthday    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	partialBirthday = regexp.MustCompile(`^--\d{2}-\d{2}$`)
)

// Normalizer validates and canonicalises profiles. DefaultRegion is the
// ISO 3166 region used to read phone numbers written without "+country".
type Normalizer struct {
	DefaultRegion string
	Now           func() time.Time
}

// Normalize validates c in place and canonicalises what has a canonical form
// (trimmed text, lower-case e-mails and tags, E.164 phones). Every problem is
// reported, each under prefix+"."+field.
func (n Normalizer) Normalize(c *Customer, prefix string) error {
	var v errs.Violations
	f := func(name string) string { return prefix + "." + name }

	c.DisplayName = strings.TrimSpace(c.DisplayName)
	switch l := utf8.RuneCountInString(c.DisplayName); {
	case l == 0:
		v.Add(f("display_name"), "is required")
	case l > maxNameLen:
		v.Add(f("display_name"), "must be at most %d characters, got %d", maxNameLen, l)
	}
	if c.Kind == "" {
		c.Kind = KindPerson
	}
	c.Emails = n.normalizeEmails(c.Emails, f("emails"), &v)
	c.Phones = n.normalizePhones(c.Phones, f("phones"), &v)
	c.Company = checkText(c.Company, f("company"), maxTextLen, &v)
	c.Title = checkText(c.Title, f("title"), maxTextLen, &v)
	c.Address.Street = checkText(c.Address.Street, f("address.street"), 500, &v)
	c.Address.City = checkText(c.Address.City, f("address.city"), maxTextLen, &v)
	c.Address.Region = checkText(c.Address.Region, f("address.region"), maxTextLen, &v)
	c.Address.PostalCode = checkText(c.Address.PostalCode, f("address.postal_code"), 32, &v)
	c.Address.CountryCode = strings.ToUpper(strings.TrimSpace(c.Address.CountryCode))
	if c.Address.CountryCode != "" && !countryPattern.MatchString(c.Address.CountryCode) {
		v.Add(f("address.country_code"), "must be an ISO 3166-1 alpha-2 code like \"CN\", got %q", c.Address.CountryCode)
	}
	n.checkBirthday(c.Birthday, f("birthday"), &v)
	if c.Source == "" {
		c.Source = SourceOther
	}
	if c.Stage == "" {
		c.Stage = StageProspect
	}
	if c.AccountManager != "" && !subjectPattern.MatchString(c.AccountManager) {
		v.Add(f("account_manager"), "must be a user id of 1 to 128 letters, digits or @._:-")
	}
	c.Tags = normalizeTags(c.Tags, f("tags"), &v)
	checkAttributes(c.Attributes, f("attributes"), &v)
	c.ExternalID = strings.TrimSpace(c.ExternalID)
	if len(c.ExternalID) > maxExternalID {
		v.Add(f("external_id"), "must be at most %d bytes", maxExternalID)
	}
	return v.Err()
}

func checkText(s, field string, max int, v *errs.Violations) string {
	s = strings.TrimSpace(s)
	if l := utf8.RuneCountInString(s); l > max {
		v.Add(field, "must be at most %d characters, got %d", max, l)
	}
	return s
}

func (n Normalizer) normalizeEmails(in []string, field string, v *errs.Violations) []string {
	if len(in) > maxEmails {
		v.Add(field, "at most %d e-mail addresses, got %d", maxEmails, len(in))
		return in
	}
	out := make([]string, 0, len(in))
	for i, e := range in {
		e = strings.ToLower(strings.TrimSpace(e))
		addr, err := mail.ParseAddress(e)
		if err != nil || addr.Address != e || len(e) > 254 || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "%q is not a valid e-mail address", in[i])
			continue
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

func (n Normalizer) normalizePhones(in []string, field string, v *errs.Violations) []string {
	if len(in) > maxPhones {
		v.Add(field, "at most %d phone numbers, got %d", maxPhones, len(in))
		return in
	}
	out := make([]string, 0, len(in))
	for i, p := range in {
		e164, ok := NormalizePhone(p, n.DefaultRegion)
		if !ok {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "%q is not a valid phone number (use +<country><number>)", p)
			continue
		}
		if !slices.Contains(out, e164) {
			out = append(out, e164)
		}
	}
	return out
}

// NormalizePhone returns p in E.164 form, reading numbers without a country
// code in region. It reports false for anything that is not a valid number.
func NormalizePhone(p, region string) (string, bool) {
	p = strings.TrimSpace(p)
	if p == "" || len(p) > 32 {
		return "", false
	}
	num, err := phonenumbers.Parse(p, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

func (n Normalizer) checkBirthday(b, field string, v *errs.Violations) {
	switch {
	case b == "":
	case fullBirthday.MatchString(b):
		t, err := time.Parse(time.DateOnly, b)
		if err != nil {
			v.Add(field, "%q is not a real date", b)
		} else if now := n.now(); t.After(now) || t.Year() < now.Year()-150 {
			v.Add(field, "%q is not a plausible birthday", b)
		}
	case partialBirthday.MatchString(b):
		// Leap year 2000 so that --02-29 is accepted.
		if _, err := time.Parse(time.DateOnly, "2000"+b[1:]); err != nil {
			v.Add(field, "%q is not a real month and day", b)
		}
	default:
		v.Add(field, "must be YYYY-MM-DD or --MM-DD, got %q", b)
	}
}

func (n Normalizer) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now()
}

func normalizeTags(in []string, field string, v *errs.Violations) []string {
	if len(in) > maxTags {
		v.Add(field, "at most %d tags, got %d", maxTags, len(in))
		return in
	}
	out := make([]string, 0, len(in))
	for i, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" || utf8.RuneCountInString(t) > maxTagLen {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "tags must be 1 to %d characters", maxTagLen)
			continue
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func checkAttributes(attrs map[string]string, field string, v *errs.Violations) {
	if len(attrs) > maxAttributes {
		v.Add(field, "at most %d attributes, got %d", maxAttributes, len(attrs))
		return
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if len(k) > maxAttrKeyLen || !attrKeyPattern.MatchString(k) {
			v.Add(field, "key %q must start with a letter and use only letters, digits and _.- (at most %d)", k, maxAttrKeyLen)
		}
		if len(attrs[k]) > maxAttrValueLen {
			v.Add(fmt.Sprintf("%s[%q]", field, k), "must be at most %d bytes", maxAttrValueLen)
		}
	}
}

// checkReason validates a free-text reason for an audited change.
func checkReason(reason, field string, v *errs.Violations) string {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		v.Add(field, "is required")
	} else if utf8.RuneCountInString(reason) > maxReasonLen {
		v.Add(field, "must be at most %d characters", maxReasonLen)
	}
	return reason
}
