package main

import (
	"fmt"
	"math/rand/v2"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
)

// benchCustomer is one generated customer, loaded into Kehu and the peer
// alike.
type benchCustomer struct {
	id         string // Kehu's, known after the import
	peerID     string // PocketBase's (15 characters)
	externalID string
	name       string
	email      string
	phone      string
	company    string
	tier       string
	stage      string
	tags       []string
}

var (
	benchSurnames  = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡"}
	benchGiven     = []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "华", "平"}
	benchCompanies = []string{"华信科技", "前海物流", "蓝海贸易", "星辰传媒", "长城建材", "东方食品", "Acme Trading", "Northwind", ""}
	benchStages    = []string{"PROSPECT", "FIRST_PURCHASE", "REPEAT", "LOYAL", "AT_RISK", "CHURNED"}
	benchTags      = []string{"vip", "retail", "wholesale", "export", "online", "referral"}
)

// benchCustomers generates n customers, the same for every run: value
// tiers A/B/C at 20/30/50 %, Chinese names, one e-mail and mobile each.
func benchCustomers(n int) []benchCustomer {
	r := rand.New(rand.NewPCG(2026, 11))
	out := make([]benchCustomer, n)
	for i := range out {
		tier := "C"
		switch p := r.IntN(10); {
		case p < 2:
			tier = "A"
		case p < 5:
			tier = "B"
		}
		out[i] = benchCustomer{
			peerID:     fmt.Sprintf("c%014d", i),
			externalID: fmt.Sprintf("bench-%07d", i),
			name:       benchSurnames[r.IntN(len(benchSurnames))] + benchGiven[r.IntN(len(benchGiven))],
			email:      fmt.Sprintf("customer%07d@example.cn", i),
			phone:      fmt.Sprintf("+86138%08d", i),
			company:    benchCompanies[r.IntN(len(benchCompanies))],
			tier:       tier,
			stage:      benchStages[r.IntN(len(benchStages))],
			tags:       []string{benchTags[r.IntN(len(benchTags))]},
		}
	}
	return out
}

// proto is the customer as ImportCustomers takes it.
func (c benchCustomer) proto() *customerv1.Customer {
	return &customerv1.Customer{
		ExternalId: c.externalID, DisplayName: c.name, Emails: []string{c.email}, Phones: []string{c.phone},
		Company: c.company, Tags: c.tags,
		ValueTier:      customerv1.ValueTier(customerv1.ValueTier_value["VALUE_TIER_"+c.tier]),
		LifecycleStage: customerv1.LifecycleStage(customerv1.LifecycleStage_value["LIFECYCLE_STAGE_"+c.stage]),
	}
}
