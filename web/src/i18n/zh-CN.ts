// 简体中文文案，键与 en.ts 相同。
import type { Messages } from "./en";

export const zhCN: Messages = {
  app: { title: "客户 Kehu", language: "语言", signOut: "退出登录", signedInAs: "当前用户 {{subject}}（{{roles}}）", skip: "跳到正文" },
  nav: { customers: "客户", myDay: "我的一天", desk: "服务台", analysis: "分析" },
  common: {
    loading: "加载中…", save: "保存", cancel: "取消", create: "创建", next: "下一页", previous: "上一页",
    exportCsv: "导出 CSV", none: "无", error: "出错了", retry: "重试", apply: "应用", clear: "清除",
    add: "添加条件", remove: "删除", search: "搜索", open: "打开", yes: "是", no: "否", reload: "重新加载",
  },
  signIn: {
    title: "登录", dev: "开发环境登录", devHint: "为任意用户和角色签发令牌，仅限开发环境的网关。",
    subject: "用户 ID", role: "角色", submit: "登录", oidc: "通过身份提供方登录",
    none: "尚未配置登录方式：请在网关上设置 KEHU_OIDC_ISSUER 和 KEHU_OIDC_CLIENT_ID（或以开发模式运行）。",
  },
  roles: { admin: "管理员", manager: "经理", agent: "客户经理/坐席", analyst: "分析师", viewer: "只读用户" },
  customers: {
    title: "客户", newCustomer: "新建客户", filter: "筛选（AIP-160）", filterHint: "例如 lifecycle_stage = LOYAL AND tags:\"vip\"",
    builder: "筛选条件", searchPlaceholder: "搜索姓名、邮箱、电话、公司…", count: "显示 {{count}} 条",
    displayName: "姓名", company: "公司", email: "邮箱", phone: "电话", stage: "阶段", tier: "价值等级",
    manager: "客户经理", points: "积分", created: "创建时间", city: "城市", tags: "标签", kind: "类型",
    field: "字段", operator: "运算符", value: "值",
    exportAll: "导出全部匹配客户（CSV）", exported: "已导出 {{count}} 条", assignTo: "客户经理（用户 ID）",
    assignAll: "全部分配", assigned: "已分配 {{count}} 位客户",
  },
  customer: {
    profile: "基本资料", edit: "编辑资料", conflict: "在你打开之后，其他人已修改了该客户。请重新加载查看其修改，然后再编辑。",
    saved: "已保存", stage: "生命周期阶段", stageHistory: "阶段变更记录", tier: "价值等级", membership: "会员等级",
    insights: "客户洞察", rfm: "RFM", churn: "流失风险", reasons: "原因", segments: "所属分群", ledger: "积分明细",
    timeline: "互动时间线", followUps: "回访计划", tickets: "工单", delta: "变动", balance: "余额", reason: "原因",
    noInsights: "暂无洞察（产生互动后评分）。", logVisit: "记录拜访", planFollowUp: "计划回访",
    purpose: "目的", due: "到期", channel: "渠道", subject: "主题", summary: "摘要", occurred: "时间", agent: "经办人",
    recency: "最近消费", frequency: "消费频率", monetary: "消费金额", label: "标签", score: "评分", transition: "变更阶段",
    created: "客户已创建", address: "城市", jobTitle: "职位",
  },
  myDay: {
    title: "我的一天", overdue: "已逾期", today: "今天", upcoming: "即将到来", empty: "暂无。",
    complete: "记录拜访", tomorrow: "推迟 1 天", nextWeek: "推迟 1 周", completed: "拜访已记录", customer: "客户",
    visitNote: "拜访情况", atRisk: "我负责的高流失风险客户",
  },
  desk: {
    title: "服务台", queues: "队列", allQueues: "全部队列", tickets: "工单", subject: "主题", status: "状态",
    priority: "优先级", assignee: "处理人", sla: "SLA（解决时限）", breached: "已超时", comments: "评论",
    internal: "内部备注", public: "回复客户", addComment: "添加评论", visibility: "可见性",
    transition: "变更状态", rootCause: "根本原因", resolutionSummary: "处理结果", resolve: "解决",
    open: "处理中", pending: "等待客户", close: "关闭", history: "变更历史", firstResponse: "首次响应",
    openOnly: "仅显示未关闭工单", type: "类型", created: "创建时间", paused: "已暂停", met: "已达成",
  },
  analysis: {
    title: "分析", journey: "客户旅程图", funnel: "生命周期漏斗", pareto: "帕累托与 ABC 分类", rfm: "RFM 矩阵",
    cohorts: "同期群留存", kpis: "服务指标", stage: "阶段", touchpoint: "触点", interactions: "互动数",
    customers: "客户数", conversion: "转化率", satisfaction: "平均满意度", complaints: "投诉率",
    entered: "进入", converted: "转化", dropped: "流失", customerShare: "客户占比（%）", revenueShare: "收入占比（%）",
    tier: "等级", revenue: "收入", recency: "最近消费", frequency: "消费频率", avgMonetary: "平均消费金额",
    cohort: "同期群", month: "第 {{n}} 月", bucket: "时间段", queue: "队列", opened: "新建", resolved: "已解决",
    slaCompliance: "SLA 达成率", csat: "满意度", nps: "净推荐值", table: "数据表", empty: "该时间段内没有数据。",
    period: "时间范围", days: "最近 {{n}} 天", metric: "单元格显示",
  },
  enums: {
    stage: { PROSPECT: "潜在客户", FIRST_PURCHASE: "首次购买", REPEAT: "复购", LOYAL: "忠诚", AT_RISK: "有流失风险", CHURNED: "已流失", UNSPECIFIED: "—" },
    tier: { A: "A（高价值）", B: "B（中价值）", C: "C（低价值）", UNSPECIFIED: "—" },
    status: { NEW: "新建", OPEN: "处理中", PENDING_CUSTOMER: "等待客户", RESOLVED: "已解决", CLOSED: "已关闭", UNSPECIFIED: "—" },
    priority: { LOW: "低", NORMAL: "普通", HIGH: "高", URGENT: "紧急", UNSPECIFIED: "—" },
    channel: { PHONE: "电话", EMAIL: "邮件", MEETING: "面谈", SOCIAL_MEDIA: "社交媒体", CHAT: "聊天", SMS: "短信", WEBSITE: "网站", EVENT: "活动", OTHER: "其他", HOTLINE: "热线", ONLINE_CHAT: "在线客服", WEB_FORM: "网页表单", IN_PERSON: "到店/面对面", UNSPECIFIED: "—" },
    followUpState: { PLANNED: "已计划", COMPLETED: "已完成", MISSED: "已错过", CANCELLED: "已取消", UNSPECIFIED: "—" },
  },
};
