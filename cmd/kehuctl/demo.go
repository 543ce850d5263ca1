package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/dial"
)

func runDemo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	addr := fs.String("customer", envOr("KEHU_CUSTOMER_ADDR", "127.0.0.1:9101"), "customer service gRPC address")
	iaddr := fs.String("interaction", envOr("KEHU_INTERACTION_ADDR", "127.0.0.1:9102"), "interaction service gRPC address")
	daddr := fs.String("servicedesk", envOr("KEHU_SERVICEDESK_ADDR", "127.0.0.1:9103"), "service desk gRPC address")
	aaddr := fs.String("analytics", envOr("KEHU_ANALYTICS_ADDR", "127.0.0.1:9104"), "analytics service gRPC address")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return loadDemo(ctx, *addr, *iaddr, *daddr, *aaddr)
}

// loadDemo imports a small, realistic customer base (upserted by external
// id), gives each customer without history a few interactions, purchases
// and a follow-up, sets up a service desk with tickets, so loading it
// twice changes nothing, and has the analytics service score it all.
func loadDemo(ctx context.Context, customerAddr, interactionAddr, deskAddr, analyticsAddr string) error {
	signer, err := auth.NewHS256Signer(jwtSecret(), envOr("KEHU_JWT_ISSUER", "kehu"), envOr("KEHU_JWT_AUDIENCE", "kehu"))
	if err != nil {
		return err
	}
	// The demo acts as a manager (care rules), as a service (import) and
	// as an admin (scoring now).
	token, err := signer.Sign("kehuctl-demo", []auth.Role{auth.RoleManager, auth.RoleService, auth.RoleAdmin}, time.Hour)
	if err != nil {
		return err
	}
	conn, err := dial.Dial(customerAddr, dial.WithTokenSource(auth.StaticToken(token)))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	stream, err := customerv1.NewCustomerServiceClient(conn).ImportCustomers(ctx)
	if err != nil {
		return err
	}
	if err := stream.Send(&customerv1.ImportCustomersRequest{Customers: demoCustomers()}); err != nil {
		return err
	}
	res, err := stream.CloseAndRecv()
	if err != nil {
		return err
	}
	logf("demo: %d customers (%d created, %d updated, %d failed)", res.GetReceivedCount(), res.GetCreatedCount(), res.GetUpdatedCount(), res.GetFailedCount())
	for _, e := range res.GetErrors() {
		logf("demo: row %d (%s): %s: %s", e.GetRow(), e.GetExternalId(), e.GetField(), e.GetDescription())
	}
	iconn, err := dial.Dial(interactionAddr, dial.WithTokenSource(auth.StaticToken(token)))
	if err != nil {
		return err
	}
	defer iconn.Close()
	if err := demoHistory(ctx, customerv1.NewCustomerServiceClient(conn), interactionv1.NewInteractionServiceClient(iconn)); err != nil {
		return err
	}
	dconn, err := dial.Dial(deskAddr, dial.WithTokenSource(auth.StaticToken(token)))
	if err != nil {
		return err
	}
	defer dconn.Close()
	if err := demoDesk(ctx, customerv1.NewCustomerServiceClient(conn), sdv1.NewServiceDeskServiceClient(dconn)); err != nil {
		return err
	}
	aconn, err := dial.Dial(analyticsAddr, dial.WithTokenSource(auth.StaticToken(token)))
	if err != nil {
		return err
	}
	defer aconn.Close()
	return demoAnalytics(ctx, customerv1.NewCustomerServiceClient(conn), analyticsv1.NewAnalyticsServiceClient(aconn))
}

// demoHistory records interactions for demo customers that have none.
func demoHistory(ctx context.Context, customers customerv1.CustomerServiceClient, interactions interactionv1.InteractionServiceClient) error {
	list, err := customers.ListCustomers(ctx, &customerv1.ListCustomersRequest{Filter: `external_id = "demo-*"`, PageSize: 100})
	if err != nil {
		return err
	}
	now := time.Now()
	ago := func(days int) *timestamppb.Timestamp { return timestamppb.New(now.AddDate(0, 0, -days)) }
	var recorded, planned int
	for n, c := range list.GetCustomers() {
		have, err := interactions.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{Parent: c.GetName(), PageSize: 1})
		if err != nil {
			return err
		}
		if len(have.GetInteractions()) > 0 {
			continue
		}
		agent := c.GetAccountManager()
		if agent == "" {
			agent = "alice"
		}
		history := []*interactionv1.Interaction{
			{Channel: interactionv1.Channel_CHANNEL_EVENT, Kind: interactionv1.InteractionKind_INTERACTION_KIND_CONTACT, Direction: interactionv1.Direction_DIRECTION_INBOUND,
				Subject: "Met at the trade show", Touchpoint: "touchpoints/trade-show", OccurTime: ago(120 - n), Agent: agent},
			{Channel: interactionv1.Channel_CHANNEL_PHONE, Kind: interactionv1.InteractionKind_INTERACTION_KIND_CONTACT, Direction: interactionv1.Direction_DIRECTION_OUTBOUND,
				Subject: "Product consultation", Summary: "Walked through the catalogue and prices", Touchpoint: "touchpoints/hotline",
				OccurTime: ago(90 - n), Agent: agent, Satisfaction: int32(3 + n%3), Sentiment: interactionv1.Sentiment_SENTIMENT_POSITIVE},
		}
		if c.GetLifecycleStage() != customerv1.LifecycleStage_LIFECYCLE_STAGE_PROSPECT && c.GetExternalId() != "demo-008" {
			for k := range 1 + n%3 {
				history = append(history, &interactionv1.Interaction{
					Channel: interactionv1.Channel_CHANNEL_WEBSITE, Kind: interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE,
					Touchpoint: "touchpoints/online-store", OccurTime: ago(60 - 15*k - n), Agent: agent,
					Amount:         &interactionv1.Money{CurrencyCode: "CNY", Amount: fmt.Sprintf("%d.%02d", 199+n*350+k*120, (n*17)%100)},
					OrderReference: fmt.Sprintf("SO-%04d-%d", 1000+n, k), ProductCategories: []string{[]string{"tea", "tea ware", "gifts"}[(n+k)%3]},
				})
			}
		}
		if c.GetExternalId() == "demo-008" {
			// A big account that went quiet: high value, at risk, dormant.
			for k, days := range []int{260, 230, 200} {
				history = append(history, &interactionv1.Interaction{
					Channel: interactionv1.Channel_CHANNEL_EMAIL, Kind: interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE,
					Touchpoint: "touchpoints/online-store", OccurTime: ago(days), Agent: agent,
					Amount:         &interactionv1.Money{CurrencyCode: "CNY", Amount: "8800.00"},
					OrderReference: fmt.Sprintf("SO-EXPORT-%d", k), ProductCategories: []string{"tea"},
				})
			}
		}
		if c.GetLifecycleStage() == customerv1.LifecycleStage_LIFECYCLE_STAGE_AT_RISK {
			history = append(history, &interactionv1.Interaction{
				Channel: interactionv1.Channel_CHANNEL_CHAT, Kind: interactionv1.InteractionKind_INTERACTION_KIND_COMPLAINT_MENTION,
				Subject: "Late delivery", Summary: "Second late delivery this quarter", OccurTime: ago(10), Agent: agent,
				Satisfaction: 2, Sentiment: interactionv1.Sentiment_SENTIMENT_NEGATIVE, Touchpoint: "touchpoints/live-chat",
			})
		}
		reqs := make([]*interactionv1.CreateInteractionRequest, len(history))
		for k, i := range history {
			reqs[k] = &interactionv1.CreateInteractionRequest{Interaction: i}
		}
		if _, err := interactions.BatchCreateInteractions(ctx, &interactionv1.BatchCreateInteractionsRequest{Parent: c.GetName(), Requests: reqs}); err != nil {
			return fmt.Errorf("interactions of %s: %w", c.GetDisplayName(), err)
		}
		recorded += len(reqs)
		if _, err := interactions.CreateFollowUp(ctx, &interactionv1.CreateFollowUpRequest{Parent: c.GetName(), FollowUp: &interactionv1.FollowUp{
			Purpose: "Quarterly check-in", Channel: interactionv1.Channel_CHANNEL_PHONE, Assignee: agent,
			DueTime:    timestamppb.New(now.AddDate(0, 0, 1+n%10)),
			Recurrence: &interactionv1.Recurrence{Interval: 3, Unit: interactionv1.Recurrence_UNIT_MONTH},
		}}); err != nil {
			return fmt.Errorf("follow-up of %s: %w", c.GetDisplayName(), err)
		}
		planned++
	}
	_, err = interactions.CreateCareRule(ctx, &interactionv1.CreateCareRuleRequest{CareRuleId: "vip-birthday", CareRule: &interactionv1.CareRule{
		DisplayName: "Birthday call for A-tier customers", Occasion: interactionv1.CareRule_OCCASION_BIRTHDAY, LeadDays: 3,
		Channel: interactionv1.Channel_CHANNEL_PHONE, MessageTemplate: "Happy birthday, {{display_name}}! A small gift is on its way.",
		CustomerFilter: "value_tier = A", FallbackAssignee: "alice", Active: true,
	}})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("care rule: %w", err)
	}
	logf("demo: %d interactions and %d follow-ups recorded", recorded, planned)
	return nil
}

func demoCustomers() []*customerv1.Customer {
	type row struct {
		ext, name, email, phone, company, title, city, country, birthday string
		kind                                                             customerv1.Kind
		source                                                           customerv1.SourceChannel
		stage                                                            customerv1.LifecycleStage
		tier                                                             customerv1.ValueTier
		manager                                                          string
		tags                                                             []string
	}
	person, org := customerv1.Kind_KIND_PERSON, customerv1.Kind_KIND_ORGANIZATION
	rows := []row{
		{"demo-001", "张伟", "zhang.wei@huaxin-tech.cn", "+86 138 0013 8000", "华信科技", "采购总监", "上海", "CN", "1982-03-14", person, customerv1.SourceChannel_SOURCE_CHANNEL_SALES_TEAM, customerv1.LifecycleStage_LIFECYCLE_STAGE_LOYAL, customerv1.ValueTier_VALUE_TIER_A, "alice", []string{"enterprise", "hardware"}},
		{"demo-002", "李娜", "li.na@example.cn", "+86 139 1234 5678", "", "", "杭州", "CN", "--08-21", person, customerv1.SourceChannel_SOURCE_CHANNEL_WEBSITE, customerv1.LifecycleStage_LIFECYCLE_STAGE_REPEAT, customerv1.ValueTier_VALUE_TIER_B, "alice", []string{"retail"}},
		{"demo-003", "王芳", "wangfang@qq.example", "+86 137 5555 0101", "", "", "北京", "CN", "1990-11-02", person, customerv1.SourceChannel_SOURCE_CHANNEL_SOCIAL_MEDIA, customerv1.LifecycleStage_LIFECYCLE_STAGE_FIRST_PURCHASE, customerv1.ValueTier_VALUE_TIER_C, "bob", []string{"wechat"}},
		{"demo-004", "深圳前海物流有限公司", "procurement@qianhai-logistics.example", "+86 755 8888 6666", "深圳前海物流有限公司", "", "深圳", "CN", "", org, customerv1.SourceChannel_SOURCE_CHANNEL_REFERRAL, customerv1.LifecycleStage_LIFECYCLE_STAGE_LOYAL, customerv1.ValueTier_VALUE_TIER_A, "bob", []string{"enterprise", "logistics"}},
		{"demo-005", "陈静", "chen.jing@example.cn", "+86 136 2020 3030", "", "", "成都", "CN", "1995-02-10", person, customerv1.SourceChannel_SOURCE_CHANNEL_EVENT, customerv1.LifecycleStage_LIFECYCLE_STAGE_PROSPECT, customerv1.ValueTier_VALUE_TIER_UNSPECIFIED, "", []string{"expo-2026"}},
		{"demo-006", "刘洋", "liu.yang@example.cn", "+86 135 7070 8080", "蓝海餐饮", "店长", "广州", "CN", "1988-06-30", person, customerv1.SourceChannel_SOURCE_CHANNEL_MARKET_RESEARCH, customerv1.LifecycleStage_LIFECYCLE_STAGE_AT_RISK, customerv1.ValueTier_VALUE_TIER_B, "carol", []string{"restaurant"}},
		{"demo-007", "Emma Schneider", "emma.schneider@example.de", "+49 30 901820", "Schneider GmbH", "Einkauf", "Berlin", "DE", "1979-09-09", person, customerv1.SourceChannel_SOURCE_CHANNEL_WEBSITE, customerv1.LifecycleStage_LIFECYCLE_STAGE_REPEAT, customerv1.ValueTier_VALUE_TIER_B, "carol", []string{"export"}},
		{"demo-008", "James O'Connor", "james@oconnor.example.com", "+1 415 555 0134", "O'Connor & Sons", "Owner", "San Francisco", "US", "", person, customerv1.SourceChannel_SOURCE_CHANNEL_REFERRAL, customerv1.LifecycleStage_LIFECYCLE_STAGE_CHURNED, customerv1.ValueTier_VALUE_TIER_C, "", []string{"export"}},
		{"demo-009", "赵敏", "zhao.min@example.cn", "+86 131 0000 1111", "", "", "南京", "CN", "--01-28", person, customerv1.SourceChannel_SOURCE_CHANNEL_SALES_TEAM, customerv1.LifecycleStage_LIFECYCLE_STAGE_FIRST_PURCHASE, customerv1.ValueTier_VALUE_TIER_C, "alice", nil},
		{"demo-010", "星辰教育集团", "contact@xingchen-edu.example", "+86 21 6123 4567", "星辰教育集团", "", "上海", "CN", "", org, customerv1.SourceChannel_SOURCE_CHANNEL_MARKET_RESEARCH, customerv1.LifecycleStage_LIFECYCLE_STAGE_PROSPECT, customerv1.ValueTier_VALUE_TIER_UNSPECIFIED, "", []string{"education"}},
		{"demo-011", "黄磊", "huang.lei@example.cn", "+86 133 4444 5555", "黄记茶庄", "老板", "福州", "CN", "1975-04-05", person, customerv1.SourceChannel_SOURCE_CHANNEL_OTHER, customerv1.LifecycleStage_LIFECYCLE_STAGE_LOYAL, customerv1.ValueTier_VALUE_TIER_A, "bob", []string{"vip"}},
		{"demo-012", "Sofia Rossi", "sofia.rossi@example.it", "+39 06 6982 1234", "", "", "Roma", "IT", "1992-12-24", person, customerv1.SourceChannel_SOURCE_CHANNEL_SOCIAL_MEDIA, customerv1.LifecycleStage_LIFECYCLE_STAGE_PROSPECT, customerv1.ValueTier_VALUE_TIER_UNSPECIFIED, "", nil},
	}
	// Someone has a birthday this month, whenever the demo is loaded.
	rows[11].birthday = fmt.Sprintf("1992-%02d-24", int(time.Now().Month()))
	needs := []*customerv1.NeedProfile{
		{Functional: true, PriceSensitivity: customerv1.PriceSensitivity_PRICE_SENSITIVITY_QUALITY},
		{Emotional: true, PriceSensitivity: customerv1.PriceSensitivity_PRICE_SENSITIVITY_BALANCED},
		{Social: true, Emotional: true, PriceSensitivity: customerv1.PriceSensitivity_PRICE_SENSITIVITY_PRICE},
		{Functional: true, PriceSensitivity: customerv1.PriceSensitivity_PRICE_SENSITIVITY_PRICE},
	}
	out := make([]*customerv1.Customer, len(rows))
	for i, r := range rows {
		out[i] = &customerv1.Customer{
			ExternalId: r.ext, DisplayName: r.name, Kind: r.kind, Company: r.company, Title: r.title,
			Emails: []string{r.email}, Phones: []string{r.phone}, Birthday: r.birthday,
			Address:          &customerv1.PostalAddress{City: r.city, CountryCode: r.country},
			Source:           r.source,
			LifecycleStage:   r.stage,
			ValueTier:        r.tier,
			AccountManager:   r.manager,
			Tags:             r.tags,
			MarketingConsent: i%3 != 0,
			NeedProfile:      needs[i%len(needs)],
		}
	}
	return out
}
