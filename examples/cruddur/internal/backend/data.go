package backend

import (
	"time"
)

// The mock data of the Cruddur backend. Every response is built from the
// clock at request time, as the original services do, so that the
// timestamps stay relative to "now".

// isoTime formats t as Python's datetime.isoformat() does for an aware
// datetime with microseconds: 2023-02-20T10:11:12.123456+00:00.
func isoTime(t time.Time) string {
	return t.Format("2006-01-02T15:04:05.000000-07:00")
}

const (
	day  = 24 * time.Hour
	hour = time.Hour
)

// The signed-in user: the original backend has no authentication yet and
// acts as this user for every write.
const (
	currentHandle      = "andrewbrown"
	currentDisplayName = "Andrew Brown"
)

// users are the handles the mock data knows; any other handle is unknown.
var users = map[string]string{
	"andrewbrown": "Andrew Brown",
	"worf":        "Worf",
	"garek":       "Garek",
	"coco":        "Coco",
	"bayko":       "Bayko",
	"londo":       "Londo Mollari",
}

// Activity is one crud (post) in a feed.
type Activity struct {
	UUID         string  `json:"uuid"`
	Handle       string  `json:"handle"`
	Message      string  `json:"message"`
	CreatedAt    string  `json:"created_at"`
	ExpiresAt    string  `json:"expires_at,omitempty"`
	LikesCount   int     `json:"likes_count"`
	RepliesCount int     `json:"replies_count"`
	RepostsCount int     `json:"reposts_count"`
	Replies      []Reply `json:"replies"`
}

// Reply is a reply shown under an activity.
type Reply struct {
	UUID                string `json:"uuid"`
	ReplyToActivityUUID string `json:"reply_to_activity_uuid"`
	Handle              string `json:"handle"`
	Message             string `json:"message"`
	LikesCount          int    `json:"likes_count"`
	RepliesCount        int    `json:"replies_count"`
	RepostsCount        int    `json:"reposts_count"`
	CreatedAt           string `json:"created_at"`
}

// UserActivity is an entry of a user's own feed and of search results.
type UserActivity struct {
	UUID      string `json:"uuid"`
	Handle    string `json:"handle"`
	Message   string `json:"message"`
	CreatedAt string `json:"created_at"`
	ExpiresAt string `json:"expires_at,omitempty"`
}

// MessageGroup is a conversation in the inbox.
type MessageGroup struct {
	UUID        string `json:"uuid"`
	DisplayName string `json:"display_name"`
	Handle      string `json:"handle"`
	Message     string `json:"message"`
	CreatedAt   string `json:"created_at"`
}

// Message is one direct message, also the answer to creating one.
type Message struct {
	UUID        string `json:"uuid"`
	DisplayName string `json:"display_name"`
	Handle      string `json:"handle"`
	Message     string `json:"message"`
	CreatedAt   string `json:"created_at"`
}

// CreatedActivity is the answer to POST /api/activities.
type CreatedActivity struct {
	UUID        string `json:"uuid"`
	DisplayName string `json:"display_name"`
	Handle      string `json:"handle"`
	Message     string `json:"message"`
	CreatedAt   string `json:"created_at"`
	ExpiresAt   string `json:"expires_at"`
}

// CreatedReply is the answer to POST /api/activities/{uuid}/reply.
type CreatedReply struct {
	UUID                string `json:"uuid"`
	DisplayName         string `json:"display_name"`
	Handle              string `json:"handle"`
	Message             string `json:"message"`
	ReplyToActivityUUID string `json:"reply_to_activity_uuid"`
}

// Health is the answer to GET /api/health.
type Health struct {
	Success bool `json:"success"`
	Ver     int  `json:"ver"`
}

const homeFirstUUID = "68f126b0-1ceb-4a33-88be-d90fa7109eee"

func homeActivities(now time.Time) []Activity {
	return []Activity{
		{
			UUID:         homeFirstUUID,
			Handle:       "Andrew Brown",
			Message:      "Cloud is fun!",
			CreatedAt:    isoTime(now.Add(-2 * day)),
			ExpiresAt:    isoTime(now.Add(5 * day)),
			LikesCount:   5,
			RepliesCount: 1,
			RepostsCount: 0,
			Replies: []Reply{{
				UUID:                "26e12864-1c26-5c3a-9658-97a10f8fea67",
				ReplyToActivityUUID: homeFirstUUID,
				Handle:              "Worf",
				Message:             "This post has no honor!",
				CreatedAt:           isoTime(now.Add(-2 * day)),
			}},
		},
		{
			UUID:      "66e12864-8c26-4c3a-9658-95a10f8fea67",
			Handle:    "Worf",
			Message:   "I am out of prune juice",
			CreatedAt: isoTime(now.Add(-7 * day)),
			ExpiresAt: isoTime(now.Add(9 * day)),
			Replies:   []Reply{},
		},
		{
			UUID:      "248959df-3079-4947-b847-9e0892d1bab4",
			Handle:    "Garek",
			Message:   "My dear doctor, I am just simple tailor",
			CreatedAt: isoTime(now.Add(-1 * hour)),
			ExpiresAt: isoTime(now.Add(12 * hour)),
			Replies:   []Reply{},
		},
	}
}

func notificationActivities(now time.Time) []Activity {
	return []Activity{{
		UUID:         homeFirstUUID,
		Handle:       "coco",
		Message:      "I am white unicorn",
		CreatedAt:    isoTime(now.Add(-2 * day)),
		ExpiresAt:    isoTime(now.Add(5 * day)),
		LikesCount:   5,
		RepliesCount: 1,
		RepostsCount: 0,
		Replies: []Reply{{
			UUID:                "26e12864-1c26-5c3a-9658-97a10f8fea67",
			ReplyToActivityUUID: homeFirstUUID,
			Handle:              "Worf",
			Message:             "This post has no honor!",
			CreatedAt:           isoTime(now.Add(-2 * day)),
		}},
	}}
}

// userActivities returns the feed of a known handle.
func userActivities(handle string, now time.Time) []UserActivity {
	one := func(uuid, name, msg string) []UserActivity {
		return []UserActivity{{
			UUID:      uuid,
			Handle:    name,
			Message:   msg,
			CreatedAt: isoTime(now.Add(-1 * day)),
			ExpiresAt: isoTime(now.Add(31 * day)),
		}}
	}
	switch handle {
	case "andrewbrown":
		return one("248959df-3079-4947-b847-9e0892d1bab4", "Andrew Brown", "Cloud is fun!")
	case "worf":
		return one("66e12864-8c26-4c3a-9658-95a10f8fea67", "Worf", "I am out of prune juice")
	case "garek":
		return one("f6a1c0a4-0f4b-4d67-9b0e-7f8a3c2d5e11", "Garek", "My dear doctor, I am just simple tailor")
	case "coco":
		return one("0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "coco", "I am white unicorn")
	}
	return []UserActivity{}
}

func searchActivities(now time.Time) []UserActivity {
	return []UserActivity{{
		UUID:      "248959df-3079-4947-b847-9e0892d1bab4",
		Handle:    "Andrew Brown",
		Message:   "Cloud is fun!",
		CreatedAt: isoTime(now),
	}}
}

func messageGroups(now time.Time) []MessageGroup {
	return []MessageGroup{
		{
			UUID:        "24b95582-9e7b-4e0a-9ad1-639773ab7552",
			DisplayName: "Andrew Brown",
			Handle:      "andrewbrown",
			Message:     "Cloud is fun!",
			CreatedAt:   isoTime(now),
		},
		{
			UUID:        "417c360e-c4e6-4fce-873b-d2d71469b4ac",
			DisplayName: "Worf",
			Handle:      "worf",
			Message:     "This program is trash!",
			CreatedAt:   isoTime(now),
		},
	}
}

func messages(now time.Time) []Message {
	return []Message{
		{
			UUID:        "4e81c06a-db0f-4281-b4cc-98208537772a",
			DisplayName: "Andrew Brown",
			Handle:      "andrewbrown",
			Message:     "Cloud is fun!",
			CreatedAt:   isoTime(now),
		},
		{
			UUID:        "66e12864-8c26-4c3a-9658-95a10f8fea67",
			DisplayName: "Andrew Brown",
			Handle:      "andrewbrown",
			Message:     "This platform is great!",
			CreatedAt:   isoTime(now),
		},
	}
}

// ttlOffsets are the lifetimes a new activity may be given.
var ttlOffsets = map[string]time.Duration{
	"30-days":  30 * day,
	"7-days":   7 * day,
	"3-days":   3 * day,
	"1-day":    1 * day,
	"12-hours": 12 * hour,
	"3-hours":  3 * hour,
	"1-hour":   1 * hour,
}
