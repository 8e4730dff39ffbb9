package alerting

import "github.com/cellwatch/cellwatch/internal/awsapi"

// Tags of metric and composite alarms: TagResource adds or overwrites,
// UntagResource removes; both are stored like any change of the alarm (one
// synced write) and survive restarts. Tags on a Put apply only when the
// alarm is created (Put keeps an existing alarm's tags).

// Tags returns the tenant's alarm's tags (false: no such alarm).
func (s *Store) Tags(tenant, name string) ([]Tag, bool) {
	a := s.Alarm(tenant, name)
	if a == nil {
		return nil, false
	}
	return a.Common().Tags, true
}

// Tag adds tags to the alarm, overwriting the values of keys it has; more
// than awsapi.MaxTags in all is refused. ErrNotFound: no such alarm.
func (s *Store) Tag(tenant, name string, tags []Tag) error {
	return s.updateTags(tenant, name, func(have []Tag) ([]Tag, error) { return awsapi.MergeTags(have, tags) })
}

// Untag removes the keys from the alarm's tags (absent keys are ignored).
// ErrNotFound: no such alarm.
func (s *Store) Untag(tenant, name string, keys []string) error {
	return s.updateTags(tenant, name, func(have []Tag) ([]Tag, error) { return awsapi.RemoveTags(have, keys), nil })
}

func (s *Store) updateTags(tenant, name string, f func([]Tag) ([]Tag, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.alarms[tenant][name]
	if a == nil {
		return ErrNotFound
	}
	tags, err := f(a.Common().Tags)
	if err != nil {
		return err
	}
	next := a.clone()
	next.Common().Tags = tags
	return s.commit([]Any{a}, []Any{next}, nil, nil)
}
