// Every label of the UI, in one place, so that another language can be added.
import type { AppealStatus } from "../generated/AppealStatus";
import type { AppealType } from "../generated/AppealType";
import type { Channel } from "../generated/Channel";
import type { Priority } from "../generated/Priority";
import type { StaffRole } from "../generated/StaffRole";

export const statusLabel: Record<AppealStatus, string> = {
  new: "новый",
  assigned: "назначено",
  inWork: "в работе",
  done: "отработано",
  closed: "закрыто",
  cancelled: "отменено",
};

export const typeLabel: Record<AppealType, string> = {
  accident: "авария",
  complaint: "жалоба",
  inquiry: "справка",
  request: "заявка",
};

export const priorityLabel: Record<Priority, string> = {
  low: "низкий",
  medium: "средний",
  critical: "критический",
};

export const channelLabel: Record<Channel, string> = {
  phone: "телефон",
  email: "e-mail",
  letter: "письмо",
  website: "сайт",
  walkIn: "личный приём",
};

export const roleLabel: Record<StaffRole, string> = {
  operator: "диспетчер",
  supervisor: "старший диспетчер",
  manager: "представитель УК",
  admin: "администратор",
};

export const t = {
  appName: "Диалог",
  login: {
    title: "Вход в «Диалог»",
    server: "Адрес сервера",
    login: "Логин",
    password: "Пароль",
    tls: "Защита соединения",
    tlsVerify: "шифровать и проверять сертификат сервера",
    tlsRequire: "шифровать без проверки сертификата",
    tlsDisable: "без шифрования (сервер на этом компьютере)",
    remember: "запомнить пароль на этом компьютере",
    submit: "Войти",
    connecting: "Подключение…",
  },
  nav: {
    desktop: "Рабочий стол",
    registry: "Реестр",
    newAppeal: "Новое обращение",
    contacts: "Контакты",
    kb: "База знаний",
    logout: "Выход",
  },
  header: {
    lineUp: "линия подключена",
    lineDown: "линия не подключена",
    waiting: "в очереди",
  },
  logout: { confirm: "Завершить работу в «Диалоге»?", yes: "Завершить", no: "Остаться", done: "Работа завершена. До свидания!" },
  registry: {
    search: "Поиск: номер, адрес, заявитель, телефон, комментарий",
    clear: "Очистить поиск",
    deadlineSoon: "срок истекает",
    notNotified: "исполнитель не оповещён",
    filter: "Фильтр",
    saveTemplate: "Сохранить как шаблон",
    templateName: "Название шаблона",
    shared: "общий (виден всем)",
    empty: "Обращений не найдено",
    loading: "Загрузка…",
    columns: ["Дата и номер", "Адрес", "Причина", "Заявитель", "Контакты", "Статус", "Прогресс", "", ""],
    overdue: "срок истёк",
    joined: "объединено обращений",
    apply: "Применить",
    reset: "Сбросить",
    from: "с",
    to: "по",
  },
  card: {
    titleNew: "Новое обращение",
    general: "Общее",
    channel: "Способ поступления",
    identifier: "Идентификатор (телефон или e-mail)",
    applicant: "Заявитель (ФИО)",
    contacts: "Другие контакты",
    talkTime: "Регламент",
    reason: "Причина",
    address: "Адрес",
    addressHint: "улица и дом, например «ленина 10»",
    apartment: "Кв.",
    entrance: "Подъезд",
    floor: "Этаж",
    addressNote: "Уточнение места",
    kind: "Вид обращения",
    kindHint: "ключевое слово, например «течь»",
    received: "Время обращения",
    priority: "Приоритет",
    comment: "Комментарий",
    status: "Статус",
    executors: "Исполнители",
    executorsNeed: "Выберите адрес и вид обращения — появятся исполнители, обслуживающие этот дом",
    addReason: "Добавить причину",
    removeReason: "Убрать причину",
    save: "Сохранить",
    close: "Закрыть",
    print: "Печать",
    required: "Заполните обязательные поля, отмеченные красным",
    joinSuggest: "По этому адресу уже есть обращение этого вида:",
    join: "Присоединить",
    joined: "Присоединено к",
    unjoin: "Отсоединить",
    saved: "Сохранено",
    conflictReload: "Обновить карточку",
    tabs: { problems: "проблемы", calls: "звонки", history: "история", files: "файлы", services: "услуги", schedule: "расписание" },
    live: "Актуальные",
    archived: "Архивные",
    fromApplicant: "Ранее с этого номера",
    noCalls: "Звонков по обращению нет",
    attach: "Прикрепить файл",
    addComment: "Добавить комментарий",
    commentPlaceholder: "Текст комментария",
    nothing: "Нет данных",
  },
  contacts: {
    title: "Исполнители",
    inWork: "в работе",
    appealsOf: "Обращения в работе у исполнителя",
    markDone: "Отметить выбранные отработанными",
  },
  kb: { title: "База знаний", search: "Поиск по статьям", edit: "Редактировать", newArticle: "Новая статья", save: "Сохранить" },
};

/** Russian plural: plural(5, "обращение", "обращения", "обращений"). */
export function plural(n: number, one: string, few: string, many: string): string {
  const m10 = n % 10;
  const m100 = n % 100;
  if (m10 === 1 && m100 !== 11) return one;
  if (m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14)) return few;
  return many;
}
